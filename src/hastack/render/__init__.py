"""Pure compilers from a placed site and the catalog to text: no I/O here."""
