-- One-time console sign-in links (`verdict login-link`): only the SHA-256 of
-- the code is stored, so reading the table does not yield a usable link.
CREATE TABLE console_login_links (
    code_hash TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL,
    subject TEXT NOT NULL,
    environment TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
