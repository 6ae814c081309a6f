-- Console sessions: a person signs in with an API token and gets a session cookie. Only a
-- hash of the session ID is kept (a database dump reveals no usable session), with the
-- token it speaks for, so revoking the token ends its sessions, and the time it was last
-- used, for the idle timeout. Kept in PostgreSQL so sessions survive an API restart and
-- work across several API processes.

-- +goose Up
CREATE TABLE console_sessions (
    id_hash      bytea PRIMARY KEY,
    token_id     uuid NOT NULL REFERENCES api_tokens ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    client_ip    text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX console_sessions_token ON console_sessions (token_id);
CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen_at);

-- +goose Down
DROP TABLE console_sessions;
