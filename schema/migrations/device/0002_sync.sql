-- Device store, version 2: what the sync server has of each document.
-- `dirty` is set by every local write and cleared when the server has
-- acknowledged the document as it stands; `acked_heads` are the heads the
-- server is known to have (NULL: it has never seen the document).
ALTER TABLE docs ADD COLUMN dirty INTEGER NOT NULL DEFAULT 1;
ALTER TABLE docs ADD COLUMN acked_heads BLOB;
-- The document's own heads, kept so a push need not load every document.
ALTER TABLE docs ADD COLUMN heads BLOB;
CREATE INDEX docs_dirty ON docs(rid) WHERE dirty = 1;
-- Bumped by every local write, so an acknowledgement for an older version
-- of a document leaves it marked for the next push.
ALTER TABLE docs ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
