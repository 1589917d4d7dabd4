"""The imitation-learning experiment (`kiwi demo`: episodes client, evaluation, report) and the
`kiwi` command, at the top of the package graph because it drives every other package."""
