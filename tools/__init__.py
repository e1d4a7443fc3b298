"""Command-line tools: render episodes, benchmark, evaluate, record, plot."""
