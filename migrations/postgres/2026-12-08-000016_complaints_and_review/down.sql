DROP INDEX review_applications_tender;
DROP TABLE review_applications;
DROP INDEX complaints_tender;
DROP TABLE complaints;
