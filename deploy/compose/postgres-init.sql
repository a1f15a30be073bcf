-- Runs once, when the compose PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
-- Core and agent keep separate databases: the agent's vector store never shares core's tables.
CREATE DATABASE chatsphere_core;
CREATE DATABASE chatsphere_agent;

\connect chatsphere_agent
CREATE EXTENSION IF NOT EXISTS vector;
