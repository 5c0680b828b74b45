DROP INDEX deadline_extensions_tender;
DROP TABLE deadline_extensions;
