package sha256mb

import (
	"fmt"
	"testing"
)

// BenchmarkSum hashes batches of 256 messages of 256 bytes (a leaf of
// ordinary events is about that size) and of 65 bytes (a Merkle tree node)
// with each kernel this processor has, one by one (crypto/sha256) the
// baseline, in one run.
func BenchmarkSum(b *testing.B) {
	for _, size := range []int{65, 256} {
		for _, k := range kernels {
			b.Run(fmt.Sprintf("%dB/%s", size, kernelNames[k]), func(b *testing.B) {
				had := kernel
				kernel = k
				defer func() { kernel = had }()
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
