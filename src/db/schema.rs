//! The one portable schema, written by hand to match `migrations/sqlite` and `migrations/postgres`.
//! Only types both backends share are used: BigInt ids and minor units, Text, Bool, Timestamp.

diesel::table! {
    organisations (id) {
        id -> BigInt,
        org_type -> Text,
        name -> Text,
        street -> Text,
        postal_code -> Text,
        city -> Text,
        member_kind -> Nullable<Text>,
        leitweg_id -> Nullable<Text>,
        vat_id -> Nullable<Text>,
        contact_email -> Nullable<Text>,
        vendor_status -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        password_changed_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        client_addr -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        token_prefix -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        scope_key -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        stream -> Text,
        seq -> BigInt,
        actor_user_id -> Nullable<BigInt>,
        actor_label -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        occurred_at -> Timestamp,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claim_token -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        sealed_tender_id -> Nullable<BigInt>,
        standstill_dates -> Bool,
    }
}

diesel::table! {
    catalogue_items (id) {
        id -> BigInt,
        description -> Text,
        unit -> Text,
        cpv_code -> Text,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    demand_calls (id) {
        id -> BigInt,
        title -> Text,
        description -> Text,
        term_months -> Integer,
        deadline -> Timestamp,
        status -> Text,
        all_members -> Bool,
        created_by -> BigInt,
        created_at -> Timestamp,
        opened_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    demand_positions (id) {
        id -> BigInt,
        call_id -> BigInt,
        position_no -> Integer,
        catalogue_item_id -> Nullable<BigInt>,
        description -> Text,
        unit -> Text,
        cpv_code -> Text,
        estimate_price -> Nullable<BigInt>,
    }
}

diesel::table! {
    demand_invitations (call_id, member_id) {
        call_id -> BigInt,
        member_id -> BigInt,
    }
}

diesel::table! {
    demand_responses (call_id, member_id) {
        call_id -> BigInt,
        member_id -> BigInt,
        answered_at -> Timestamp,
        answered_by -> BigInt,
    }
}

diesel::table! {
    demand_lines (id) {
        id -> BigInt,
        call_id -> BigInt,
        position_id -> BigInt,
        member_id -> BigInt,
        quantity -> BigInt,
        reference_price -> Nullable<BigInt>,
    }
}

diesel::table! {
    tenders (id) {
        id -> BigInt,
        demand_call_id -> BigInt,
        title -> Text,
        description -> Text,
        procedure -> Text,
        buffer_percent -> Text,
        estimated_value -> BigInt,
        threshold -> BigInt,
        bid_deadline -> Timestamp,
        urgency_reason -> Nullable<Text>,
        term_months -> Integer,
        term_justification -> Nullable<Text>,
        evaluation -> Text,
        status -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        published_by -> Nullable<BigInt>,
        published_at -> Nullable<Timestamp>,
        opening_started_by -> Nullable<BigInt>,
        opening_started_at -> Nullable<Timestamp>,
        opened_by -> Nullable<BigInt>,
        opened_at -> Nullable<Timestamp>,
        opening_record -> Nullable<Text>,
        opening_record_sha256 -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
        cancelled_by -> Nullable<BigInt>,
        cancel_reason -> Nullable<Text>,
    }
}

diesel::table! {
    tender_lots (id) {
        id -> BigInt,
        tender_id -> BigInt,
        lot_no -> Integer,
        title -> Text,
        cancelled_at -> Nullable<Timestamp>,
        cancelled_by -> Nullable<BigInt>,
        cancel_reason -> Nullable<Text>,
        tie_winner_bid_id -> Nullable<BigInt>,
        tie_note -> Nullable<Text>,
        tie_decided_by -> Nullable<BigInt>,
        tie_decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    tender_positions (id) {
        id -> BigInt,
        tender_id -> BigInt,
        lot_id -> BigInt,
        position_no -> Integer,
        demand_position_id -> Nullable<BigInt>,
        description -> Text,
        unit -> Text,
        cpv_code -> Text,
        estimate_quantity -> BigInt,
        max_quantity -> BigInt,
        estimate_price -> Nullable<BigInt>,
    }
}

diesel::table! {
    tender_members (tender_id, member_id) {
        tender_id -> BigInt,
        member_id -> BigInt,
    }
}

diesel::table! {
    tender_documents (id) {
        id -> BigInt,
        tender_id -> BigInt,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        content -> Binary,
        uploaded_by -> BigInt,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    tender_questions (id) {
        id -> BigInt,
        tender_id -> BigInt,
        vendor_id -> BigInt,
        asked_by -> BigInt,
        question -> Text,
        asked_at -> Timestamp,
        answer -> Nullable<Text>,
        answered_by -> Nullable<BigInt>,
        answered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    bids (id) {
        id -> BigInt,
        tender_id -> BigInt,
        vendor_id -> BigInt,
        version -> Integer,
        status -> Text,
        submitted_by -> BigInt,
        submitted_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
        nonce -> Text,
        receipt_sha256 -> Text,
        criteria -> Text,
    }
}

diesel::table! {
    bid_lots (bid_id, lot_id) {
        bid_id -> BigInt,
        lot_id -> BigInt,
        total -> BigInt,
        excluded_kind -> Nullable<Text>,
        excluded_reason -> Nullable<Text>,
        excluded_by -> Nullable<BigInt>,
        excluded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    bid_prices (bid_id, position_id) {
        bid_id -> BigInt,
        position_id -> BigInt,
        unit_price -> BigInt,
    }
}

diesel::table! {
    bid_scores (bid_id, criterion_no) {
        bid_id -> BigInt,
        criterion_no -> Integer,
        score -> BigInt,
        reason -> Text,
        scored_by -> BigInt,
        scored_at -> Timestamp,
    }
}

diesel::table! {
    low_bid_reviews (bid_id, lot_id) {
        bid_id -> BigInt,
        lot_id -> BigInt,
        requested_by -> BigInt,
        requested_at -> Timestamp,
        decision -> Nullable<Text>,
        reason -> Nullable<Text>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    awards (id) {
        id -> BigInt,
        tender_id -> BigInt,
        lot_id -> BigInt,
        bid_id -> BigInt,
        vendor_id -> BigInt,
        reason -> Text,
        status -> Text,
        decided_by -> BigInt,
        informed_at -> Timestamp,
        standstill_last_day -> Date,
        concluded_by -> Nullable<BigInt>,
        concluded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    award_notices (award_id, bid_id) {
        award_id -> BigInt,
        bid_id -> BigInt,
        vendor_id -> BigInt,
        bid_rank -> Nullable<Integer>,
        reason -> Text,
        delivery_channel -> Nullable<Text>,
        delivery_sent_at -> Nullable<Timestamp>,
        delivery_note -> Nullable<Text>,
        delivery_recorded_by -> Nullable<BigInt>,
        delivery_recorded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    award_notice_mails (outbox_id) {
        outbox_id -> BigInt,
        award_id -> BigInt,
        bid_id -> BigInt,
    }
}

diesel::table! {
    contracts (id) {
        id -> BigInt,
        number -> Text,
        tender_id -> BigInt,
        lot_id -> BigInt,
        award_id -> BigInt,
        vendor_id -> BigInt,
        term_start -> Date,
        term_end -> Date,
        max_value -> BigInt,
        document -> Text,
        document_sha256 -> Text,
        created_at -> Timestamp,
        called_value -> BigInt,
        alert_utilisation_at -> Nullable<Timestamp>,
        alert_expiry_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    contract_positions (contract_id, position_id) {
        contract_id -> BigInt,
        position_id -> BigInt,
        unit_price -> BigInt,
        max_quantity -> BigInt,
        called_quantity -> BigInt,
    }
}

diesel::table! {
    contract_members (contract_id, member_id) {
        contract_id -> BigInt,
        member_id -> BigInt,
        quota_value -> Nullable<BigInt>,
        called_value -> BigInt,
    }
}

diesel::table! {
    calloffs (id) {
        id -> BigInt,
        number -> Text,
        contract_id -> BigInt,
        member_id -> BigInt,
        ordered_by -> BigInt,
        status -> Text,
        delivery_address -> Text,
        cost_centre -> Text,
        leitweg_id -> Nullable<Text>,
        note -> Text,
        total -> BigInt,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        rejected_at -> Nullable<Timestamp>,
        reject_reason -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        document -> Text,
        document_sha256 -> Text,
    }
}

diesel::table! {
    calloff_lines (calloff_id, position_id) {
        calloff_id -> BigInt,
        position_id -> BigInt,
        quantity -> BigInt,
        unit_price -> BigInt,
        line_total -> BigInt,
        reference_price -> Nullable<BigInt>,
        reference_source -> Nullable<Text>,
        saving -> Nullable<BigInt>,
        member_id -> BigInt,
        contract_id -> BigInt,
        order_year -> Integer,
        holds_volume -> Bool,
    }
}

diesel::joinable!(tender_lots -> tenders (tender_id));
diesel::joinable!(calloffs -> contracts (contract_id));
diesel::joinable!(calloffs -> organisations (member_id));
diesel::joinable!(calloff_lines -> calloffs (calloff_id));
diesel::joinable!(calloff_lines -> tender_positions (position_id));
diesel::joinable!(tender_positions -> tender_lots (lot_id));
diesel::joinable!(tender_members -> organisations (member_id));
diesel::joinable!(bids -> organisations (vendor_id));
diesel::joinable!(bid_lots -> bids (bid_id));
diesel::joinable!(bid_lots -> tender_lots (lot_id));
diesel::joinable!(bid_prices -> bids (bid_id));
diesel::joinable!(bid_prices -> tender_positions (position_id));
diesel::joinable!(bid_scores -> bids (bid_id));
diesel::joinable!(outbox -> tenders (sealed_tender_id));
diesel::joinable!(award_notice_mails -> outbox (outbox_id));
diesel::joinable!(awards -> organisations (vendor_id));
diesel::joinable!(contracts -> organisations (vendor_id));
diesel::joinable!(contracts -> tender_lots (lot_id));
diesel::joinable!(contracts -> tenders (tender_id));
diesel::joinable!(awards -> tenders (tender_id));
diesel::joinable!(contract_positions -> tender_positions (position_id));
diesel::joinable!(contract_members -> organisations (member_id));
diesel::joinable!(demand_positions -> demand_calls (call_id));
diesel::joinable!(demand_lines -> demand_positions (position_id));
diesel::joinable!(demand_lines -> organisations (member_id));
diesel::joinable!(demand_invitations -> organisations (member_id));

diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));

diesel::table! {
    complaints (id) {
        id -> BigInt,
        tender_id -> BigInt,
        lot_id -> Nullable<BigInt>,
        vendor_id -> BigInt,
        filed_by -> BigInt,
        filed_at -> Timestamp,
        text -> Text,
        status -> Text,
        answer -> Nullable<Text>,
        answered_by -> Nullable<BigInt>,
        answered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    review_applications (id) {
        id -> BigInt,
        tender_id -> BigInt,
        lot_id -> Nullable<BigInt>,
        chamber -> Text,
        file_number -> Text,
        notified_at -> Timestamp,
        recorded_by -> BigInt,
        recorded_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decision_granted -> Bool,
        complied_at -> Nullable<Timestamp>,
        no_appeal_confirmed_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
        appeal_filed_at -> Nullable<Timestamp>,
        bar_extended_until -> Nullable<Date>,
        bar_extended_until_decision -> Bool,
        appeal_decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deadline_extensions (id) {
        id -> BigInt,
        tender_id -> BigInt,
        old_deadline -> Timestamp,
        new_deadline -> Timestamp,
        reason -> Text,
        note -> Text,
        extended_by -> BigInt,
        extended_at -> Timestamp,
    }
}

diesel::joinable!(complaints -> organisations (vendor_id));
diesel::joinable!(complaints -> tenders (tender_id));

diesel::table! {
    data_kind (id) {
        id -> Integer,
        kind -> Text,
        marked_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    users,
    sessions,
    api_tokens,
    login_failures,
    audit_events,
    outbox,
    catalogue_items,
    demand_calls,
    demand_positions,
    demand_invitations,
    demand_responses,
    demand_lines,
    tenders,
    tender_lots,
    tender_positions,
    tender_members,
    tender_documents,
    tender_questions,
    bids,
    bid_lots,
    bid_prices,
    bid_scores,
    low_bid_reviews,
    awards,
    award_notices,
    award_notice_mails,
    complaints,
    review_applications,
    deadline_extensions,
    contracts,
    contract_positions,
    contract_members,
    calloffs,
    calloff_lines,
);
