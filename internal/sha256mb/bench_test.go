package sha256mb

import (
	"fmt"
	"testing"
)

// BenchmarkSum hashes batches of 256 messages of 256 bytes (a leaf of
// ordinary events is about that size) and of 65 bytes (a Merkle tree node),
// with the lanes and one by one (crypto/sha256), the baseline, in one run.
func BenchmarkSum(b *testing.B) {
	for _, size := range []int{65, 256} {
		for _, lanes := range []bool{true, false} {
			name := fmt.Sprintf("%dB/one-by-one", size)
			if lanes {
				name = fmt.Sprintf("%dB/lanes", size)
			}
			b.Run(name, func(b *testing.B) {
				if lanes && !useLanes {
					b.Skip("no AVX-512 here")
				}
				had := useLanes
				useLanes = lanes
				defer func() { useLanes = had }()
				var batch Batch
				for range 256 {
					batch.Buf = append(batch.Buf, make([]byte, size)...)
					batch.End()
				}
				b.SetBytes(int64(256 * size))
				for b.Loop() {
					batch.Sum()
				}
				b.ReportMetric(float64(256*b.N)/b.Elapsed().Seconds(), "hashes/s")
			})
		}
	}
}
