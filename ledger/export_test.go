package ledger

// Abandon stops the ledger's background checkpoints without the final
// one, as a crash would.
func (l *Ledger) Abandon() {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
	})
}

// SplitNotes exports splitNotes for the fuzz test.
var SplitNotes = splitNotes

// SignCheckpointForTest signs a sample checkpoint.
func SignCheckpointForTest(s *Signer) ([]byte, error) {
	return signCheckpoint(&Checkpoint{Origin: "comply/fuzz", Size: 1, Root: make([]byte, 32)}, s)
}

var HashChildrenForTest = hashChildren

// ReadJournalForTest reads a journal generation as a verifier does (no
// key): the number of intents found and whether it is damaged.
func ReadJournalForTest(b []byte) (intents int, bad bool) {
	jl := readJournal(b, "comply/fuzz", 0, nil, nil)
	return len(jl.intents), jl.bad != nil
}
