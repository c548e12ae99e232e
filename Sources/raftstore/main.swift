print("raftstore demo: the demo arrives with the WAL and snapshot backends; run `make test` meanwhile.")
