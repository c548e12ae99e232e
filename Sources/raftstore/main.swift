print("raftstore: not yet")
