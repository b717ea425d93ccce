package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the auditlog server under load: a child process that the bench
// started (and may measure), or one it was given the address of.
type Server struct {
	URL        string
	AdminToken string
	PID        int    // the server's process, if known: its memory is sampled
	DataDir    string // its data directory, if known: its size is measured

	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	tail   []string // the last lines of its log
}

// StartServer runs bin serve on dataDir, listening on a free port of
// 127.0.0.1 with a fresh admin token and no rate limits, plus extra's flags,
// and waits until it is ready. Its log goes to logw. AUDITLOG_* variables
// are not passed on: flags alone configure it.
func StartServer(ctx context.Context, bin, dataDir string, extra []string, logw io.Writer) (*Server, error) {
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	s := &Server{AdminToken: hex.EncodeToString(tok), DataDir: dataDir, exited: make(chan struct{})}
	args := append([]string{"serve", "--data", dataDir, "--addr", "127.0.0.1:0", "--log-format", "json",
		"--rate-limit-reads", "off", "--rate-limit-writes", "off"}, extra...)
	s.cmd = exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUDITLOG_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	s.cmd.Env = append(s.cmd.Env, "AUDITLOG_ADMIN_TOKEN="+s.AdminToken)
	out, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout = s.cmd.Stderr // one pipe for both
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server (%s serve): %w", bin, err)
	}
	s.PID = s.cmd.Process.Pid
	url := make(chan string, 1)
	go s.readLog(out, logw, url)
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.URL = <-url:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("the server exited before serving: %s\n%s", s.cmd.ProcessState, s.Tail())
	case <-time.After(60 * time.Second):
		s.Stop(5 * time.Second)
		return nil, fmt.Errorf("the server did not serve within 60s:\n%s", s.Tail())
	case <-ctx.Done():
		s.Stop(5 * time.Second)
		return nil, ctx.Err()
	}
}

// readLog copies the server's log to w, keeps its tail, and sends the URL
// of the line that says it is serving.
func (s *Server) readLog(r io.Reader, w io.Writer, url chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		if w != nil {
			fmt.Fprintln(w, line)
		}
		s.mu.Lock()
		s.tail = append(s.tail, line)
		if len(s.tail) > 20 {
			s.tail = s.tail[1:]
		}
		s.mu.Unlock()
		var rec struct {
			Msg string `json:"msg"`
			URL string `json:"url"`
		}
		if !sent && json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "auditlog serving" && rec.URL != "" {
			url <- rec.URL
			sent = true
		}
	}
}

// Tail is the end of the server's log.
func (s *Server) Tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// Stop stops a server the bench started, with SIGINT, then SIGKILL after
// timeout. It reports how the server exited.
func (s *Server) Stop(timeout time.Duration) error {
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(timeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("the server did not stop within %s of SIGINT: killed", timeout)
	}
	if !s.cmd.ProcessState.Success() {
		return fmt.Errorf("the server exited with %s:\n%s", s.cmd.ProcessState, s.Tail())
	}
	return nil
}

// Memory is a process's resident memory, in bytes: now (VmRSS) and its
// peak (VmHWM), from /proc/PID/status.
func Memory(pid int) (rss, hwm int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name != "VmRSS" && name != "VmHWM" {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status: %s: %w", pid, line, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
	}
	return rss, hwm, nil
}

// memorySampler samples a process's memory every period and keeps the
// largest VmRSS and VmHWM it saw.
type memorySampler struct {
	pid            int
	mu             sync.Mutex
	maxRSS, maxHWM int64
	last           int64
	err            error
	stop           chan struct{}
	done           chan struct{}
}

func startSampler(pid int, period time.Duration) *memorySampler {
	m := &memorySampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	m.sample()
	go func() {
		defer close(m.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
	return m
}

func (m *memorySampler) sample() {
	rss, hwm, err := Memory(m.pid)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if m.err == nil {
			m.err = err
		}
		return
	}
	m.last, m.maxRSS, m.maxHWM = rss, max(m.maxRSS, rss), max(m.maxHWM, hwm)
}

// now is the last sampled VmRSS.
func (m *memorySampler) now() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// close stops sampling and returns the peaks seen.
func (m *memorySampler) close() (maxRSS, maxHWM int64, err error) {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.maxRSS, m.maxHWM, m.err
}
