"""Everything that turns a file or an accession into a :class:`~genesel.dataset.Dataset`."""
