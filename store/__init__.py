"""liveloom.store — where results live: the artifact workspace (ids, provenance, atomic writes) and the file
policy (which folders tools may read and write). Imports `music` only."""
