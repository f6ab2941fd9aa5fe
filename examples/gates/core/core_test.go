package core

import "testing"

func TestCounterCountsWordsCaseInsensitively(t *testing.T) {
	c := NewCounter()
	c.AddText("the cat and The dog")
	if got := c.Count("THE"); got != 2 {
		t.Fatalf("Count(THE) = %d, want 2", got)
	}
	if got := len(c.Words()); got != 4 {
		t.Fatalf("len(Words) = %d, want 4", got)
	}
}

func BenchmarkChecksum(b *testing.B) {
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(data)))
	var sink uint32
	for i := 0; i < b.N; i++ {
		sink += Checksum(data)
	}
	_ = sink
}
