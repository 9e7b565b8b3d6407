// @generated automatically by Diesel CLI.

diesel::table! {
    api_token (id) {
        id -> Uuid,
        token_hash -> Bytea,
        role -> Text,
        organization_id -> Nullable<Uuid>,
        label -> Text,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    app_user (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        organization_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_event (id) {
        id -> Int8,
        at -> Timestamptz,
        action -> Text,
        actor_user_id -> Nullable<Uuid>,
        actor_token_id -> Nullable<Uuid>,
        actor_role -> Text,
        actor_organization_id -> Nullable<Uuid>,
        service_id -> Uuid,
        reason -> Text,
    }
}

diesel::table! {
    change_log (id) {
        id -> Int8,
        entity -> Text,
        entity_id -> Uuid,
        action -> Text,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    coverage (id) {
        id -> Uuid,
        service_id -> Uuid,
        position -> Int2,
        kind -> Text,
        spec -> Jsonb,
        min_lon -> Float8,
        min_lat -> Float8,
        max_lon -> Float8,
        max_lat -> Float8,
    }
}

diesel::table! {
    idempotency_key (owner_id, key_hash) {
        owner_id -> Uuid,
        key_hash -> Bytea,
        request_hash -> Bytea,
        location -> Nullable<Text>,
        body -> Nullable<Bytea>,
        created_at -> Timestamptz,
        key_id -> Nullable<Text>,
    }
}

diesel::table! {
    location (id) {
        id -> Uuid,
        service_id -> Uuid,
        confidential -> Bool,
        lat -> Nullable<Float8>,
        lon -> Nullable<Float8>,
        street -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        city -> Nullable<Text>,
        region -> Nullable<Text>,
        country -> Nullable<Text>,
        sealed -> Nullable<Bytea>,
        key_id -> Nullable<Text>,
    }
}

diesel::table! {
    organization (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        website -> Nullable<Text>,
        email -> Nullable<Text>,
        demo -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    phone (id) {
        id -> Uuid,
        service_id -> Uuid,
        position -> Int2,
        number -> Text,
        kind -> Text,
        label -> Nullable<Text>,
        available_24_7 -> Bool,
        languages -> Array<Nullable<Text>>,
        keyword -> Nullable<Text>,
    }
}

diesel::table! {
    schedule (id) {
        id -> Uuid,
        service_id -> Uuid,
        position -> Int2,
        weekdays -> Array<Nullable<Int2>>,
        opens_at -> Time,
        closes_at -> Time,
        timezone -> Text,
    }
}

diesel::table! {
    service (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        min_age -> Nullable<Int2>,
        max_age -> Nullable<Int2>,
        genders -> Array<Nullable<Text>>,
        accepts_unaccompanied_minors -> Bool,
        trafficking_specialized -> Bool,
        dv_specialized -> Bool,
        lgbtq_affirming -> Bool,
        no_id_required -> Bool,
        no_immigration_status_required -> Bool,
        no_law_enforcement_required -> Bool,
        accepts_children -> Bool,
        accepts_pets -> Bool,
        wheelchair_accessible -> Bool,
        languages -> Array<Nullable<Text>>,
        capacity_available -> Nullable<Int4>,
        capacity_total -> Nullable<Int4>,
        capacity_reported_at -> Nullable<Timestamptz>,
        verified_at -> Nullable<Timestamptz>,
        demo -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        status -> Text,
    }
}

diesel::table! {
    service_need (service_id, need) {
        service_id -> Uuid,
        need -> Text,
    }
}

diesel::table! {
    user_session (id) {
        id -> Uuid,
        token_hash -> Bytea,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(api_token -> organization (organization_id));
diesel::joinable!(app_user -> organization (organization_id));
diesel::joinable!(coverage -> service (service_id));
diesel::joinable!(location -> service (service_id));
diesel::joinable!(phone -> service (service_id));
diesel::joinable!(schedule -> service (service_id));
diesel::joinable!(service -> organization (organization_id));
diesel::joinable!(service_need -> service (service_id));
diesel::joinable!(user_session -> app_user (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_token,
    app_user,
    audit_event,
    change_log,
    coverage,
    idempotency_key,
    location,
    organization,
    phone,
    schedule,
    service,
    service_need,
    user_session,
);
