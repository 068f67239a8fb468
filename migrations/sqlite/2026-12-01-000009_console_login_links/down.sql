DROP TABLE console_login_links;
