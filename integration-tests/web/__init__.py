"""Browser tests of the search-by-example page (`elastichash serve`)."""
