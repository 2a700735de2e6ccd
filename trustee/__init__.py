"""A trustee's tooling: `tinget trustee …` runs the key-generation rounds and the partial decryption on the
trustee's own machine, files in and files out, with the private state in a file only its owner may read.
It imports `protocol` only (docs/decisions.md D61).
"""
