//! GFS2 discovery: which shared filesystems the fenced node could reach (placeholder).
