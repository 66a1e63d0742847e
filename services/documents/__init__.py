"""Files: uploads checked by content, object storage, presigned downloads, the citizen's wallet."""
