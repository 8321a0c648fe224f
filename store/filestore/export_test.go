package filestore

// Stall holds the store's lock until release is called, as a slow disk
// would hold a write: Appends meanwhile wait.
func Stall(s *Store) (release func()) {
	s.mu.Lock()
	return s.mu.Unlock
}
