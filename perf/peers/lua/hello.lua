-- The peer table's start-up row: prints one line and exits.
print("Hello, world!")
