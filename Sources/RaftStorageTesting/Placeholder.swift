public enum RaftStorageTestingPlaceholder {}
