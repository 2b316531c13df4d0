"""The attack on issue 18 as a regression suite: damaged and hostile variants of files this library writes,
made by generators (no folder of binaries), each read in a child process with time and memory limits.

``core.py`` holds the harness: the pristine files, the calls a user makes (``read``, ``open`` + every column,
``list_tables``, ``validate``, ``hdmf-ai inspect``), what each outcome is, and the rule every variant must
meet. Each other module holds a group of damage families, as ``FAMILIES``: a family is a function
``(good file, scratch directory) -> (variant name, damaged path), ...``. ``tests/test_attack.py`` runs them all;
``python tests/attack/report.py`` prints the table of outcomes per family.
"""

#: the modules of this package that hold damage families (each a ``FAMILIES`` dict)
FAMILY_MODULES: tuple[str, ...] = ("hdf5", "semantic", "zarr", "hostile")
