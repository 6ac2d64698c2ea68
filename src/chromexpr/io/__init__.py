"""Reading and writing files: tables, reads, bigWig, processed releases, downloads."""
