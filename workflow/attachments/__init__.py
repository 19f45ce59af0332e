"""Photos and scanned documents on cases: checked by their content, re-encoded (images), stored
by SHA-256 outside the database, named in the trail (attachment.added) and read within the
case's scope.

- content.py: what a file is (by its bytes, never by its name or declared type), images
  re-encoded without their metadata, PDFs checked.
- storage.py: the content-addressed store: a folder (the instance's, by default) or an
  S3-compatible bucket.
- records.py: adding a file to a case (its row and its trail event in the caller's
  transaction), listing, reading within scope, and checking the stored files."""
