-- Runs once, when the postgres volume is first initialised (/docker-entrypoint-initdb.d).
-- Each subgraph owns its own database; the *_DATABASE_URL variables in compose.yaml name them.
CREATE DATABASE orion_auth;
CREATE DATABASE orion_user;
CREATE DATABASE orion_notification;
CREATE DATABASE orion_analytics;
