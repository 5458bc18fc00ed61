"""Model files shipped inside the package (read offline; see each folder's NOTICE.md and LICENSE)."""
