"""Lists of each concept: filtering, scoping and keyset paging, shared by the API and the console."""
