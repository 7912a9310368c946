package exchange

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// ALPN is the protocol both sides negotiate to run the exchange.
const ALPN = "istio-peer-exchange"

const (
	magic       = 0x3D230467
	maxPreamble = 64 << 10
	structURL   = "type.googleapis.com/google.protobuf.Struct"
	keyMetadata = "x-envoy-peer-metadata"
	keyID       = "x-envoy-peer-metadata-id"
)

// WritePreamble writes the exchange's preamble for w: the magic and the
// length (big endian), then an Any holding a Struct with the node
// metadata and the node id.
func WritePreamble(wr io.Writer, w *peer.Workload) error {
	st := &structpb.Struct{Fields: map[string]*structpb.Value{
		keyMetadata: structpb.NewStructValue(w.Struct()),
	}}
	if w.ID != "" {
		st.Fields[keyID] = structpb.NewStringValue(w.ID)
	}
	value, err := proto.MarshalOptions{Deterministic: true}.Marshal(st)
	if err != nil {
		return err
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(&anypb.Any{TypeUrl: structURL, Value: value})
	if err != nil {
		return err
	}
	buf := make([]byte, 8, 8+len(data))
	binary.BigEndian.PutUint32(buf, magic)
	binary.BigEndian.PutUint32(buf[4:], uint32(len(data)))
	_, err = wr.Write(append(buf, data...))
	return err
}

// ReadPreamble reads the peer's preamble.
func ReadPreamble(r io.Reader) (*peer.Workload, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint32(hdr[:]) != magic {
		return nil, errors.New("metadata exchange: bad magic (the peer does not run the exchange)")
	}
	n := binary.BigEndian.Uint32(hdr[4:])
	if n > maxPreamble {
		return nil, fmt.Errorf("metadata exchange: %d bytes of metadata is too large", n)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, err
	}
	var a anypb.Any
	if err := proto.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("metadata exchange: %w", err)
	}
	var st structpb.Struct
	if err := a.UnmarshalTo(&st); err != nil {
		return nil, fmt.Errorf("metadata exchange: %w", err)
	}
	return peer.FromStruct(st.GetFields()[keyID].GetStringValue(), st.GetFields()[keyMetadata].GetStructValue()), nil
}

// exchanger runs the exchange on one side of proxied connections: the
// downstream one on inbound chains (the client is a mesh proxy), the
// upstream one otherwise (the server is).
type exchanger struct {
	cfg     *resource.MetadataExchange
	node    *peer.Workload
	inbound bool
}

var _ tcp.Exchanger = (*exchanger)(nil)

func (e *exchanger) WrapDownstream(c net.Conn, info *tcp.ConnInfo) net.Conn {
	if !e.inbound {
		return c
	}
	return e.wrap(c, info, true)
}

func (e *exchanger) WrapUpstream(c net.Conn, info *tcp.ConnInfo) net.Conn {
	if e.inbound {
		return c
	}
	return e.wrap(c, info, false)
}

// wrap returns c unchanged, the peer known to be unknown, unless ALPN
// selected the exchange's protocol.
func (e *exchanger) wrap(c net.Conn, info *tcp.ConnInfo, downstream bool) net.Conn {
	tc, ok := c.(interface{ ConnectionState() tls.ConnectionState })
	if !ok || tc.ConnectionState().NegotiatedProtocol != e.cfg.Protocol {
		info.Resolve()
		return c
	}
	return &mxConn{Conn: c, node: e.node, info: info, downstream: downstream, br: bufio.NewReader(c)}
}

// mxConn writes our preamble before the first bytes it sends (or when it
// first reads) and reads the peer's before the first bytes it returns.
type mxConn struct {
	net.Conn
	node       *peer.Workload
	info       *tcp.ConnInfo
	downstream bool
	br         *bufio.Reader

	wmu      sync.Mutex
	written  bool
	writeErr error
	readDone bool
}

func (c *mxConn) sendPreamble() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.written {
		c.written = true
		c.writeErr = WritePreamble(c.Conn, c.node)
	}
	return c.writeErr
}

func (c *mxConn) Write(b []byte) (int, error) {
	if err := c.sendPreamble(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *mxConn) Read(b []byte) (int, error) {
	if !c.readDone {
		if err := c.sendPreamble(); err != nil {
			return 0, err
		}
		c.readDone = true
		w, err := c.readPeer()
		if c.downstream {
			c.info.SetWorkloads(w, nil)
		} else {
			c.info.SetWorkloads(nil, w)
		}
		c.info.Resolve()
		if err != nil {
			return 0, err
		}
	}
	return c.br.Read(b)
}

// readPeer reads the peer's preamble; a stream without one (wrong magic)
// is passed through whole, the peer unknown, as Envoy does.
func (c *mxConn) readPeer() (*peer.Workload, error) {
	hdr, err := c.br.Peek(4)
	if err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint32(hdr) != magic {
		return nil, nil
	}
	return ReadPreamble(c.br)
}

// CloseWrite half-closes when the connection can.
func (c *mxConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}
