package parquet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// arrow-go reads the flatbuffers of Arrow IPC metadata without checking
// them: a vector's length is taken from the file and allocated at once
// (make([]arrow.Field, n) for a schema's fields, a field's children, a
// key-value list), so that a file of a few hundred bytes that claims 2³²
// fields makes the Go runtime die of "out of memory", which no recover
// catches. This file checks every flatbuffer arrow-go will read before it
// reads it: each table, string and vector must lie inside the buffer, and
// the walk (which counts shared subtables once per reference, as arrow-go's
// own walk does) may visit no more elements than the buffer has room for:
// one per byte, since the bytes of a name are elements too.

// errFlatbuffer is the error of a check that failed; the callers say which
// part of the file it was.
var errFlatbuffer = errors.New("a size or offset points outside the metadata")

// fbCheck walks one flatbuffer.
type fbCheck struct {
	b      []byte
	budget int // elements the walk may still visit
}

func newFBCheck(b []byte) *fbCheck { return &fbCheck{b: b, budget: len(b) + 1} }

// in reports whether n bytes at p lie inside the buffer.
func (c *fbCheck) in(p, n int64) bool {
	return p >= 0 && n >= 0 && p <= int64(len(c.b)) && n <= int64(len(c.b))-p
}

func (c *fbCheck) u32(p int64) (int64, error) {
	if !c.in(p, 4) {
		return 0, errFlatbuffer
	}
	return int64(binary.LittleEndian.Uint32(c.b[p:])), nil
}

// fbRoot checks the root table of the flatbuffer b.
func fbRoot(b []byte) (fbTable, error) {
	c := newFBCheck(b)
	root, err := c.u32(0)
	if err != nil {
		return fbTable{}, err
	}
	return c.table(root)
}

// fbTable is a checked table: its position and its vtable.
type fbTable struct {
	c      *fbCheck
	pos    int64
	vt     int64 // the vtable's position
	vtLen  int64
	objLen int64
}

// table checks the table at p.
func (c *fbCheck) table(p int64) (fbTable, error) {
	if c.budget--; c.budget < 0 {
		return fbTable{}, errFlatbuffer
	}
	soff, err := c.u32(p)
	if err != nil {
		return fbTable{}, err
	}
	vt := p - int64(int32(uint32(soff)))
	if !c.in(vt, 4) {
		return fbTable{}, errFlatbuffer
	}
	t := fbTable{c: c, pos: p, vt: vt, vtLen: int64(binary.LittleEndian.Uint16(c.b[vt:])), objLen: int64(binary.LittleEndian.Uint16(c.b[vt+2:]))}
	if t.vtLen < 4 || t.vtLen%2 != 0 || !c.in(vt, t.vtLen) || t.objLen < 4 || !c.in(p, t.objLen) {
		return fbTable{}, errFlatbuffer
	}
	return t, nil
}

// field returns the position of slot i of t holding size bytes, or -1 if
// the slot is absent.
func (t fbTable) field(i int, size int64) (int64, error) {
	o := 4 + 2*int64(i)
	if o+2 > t.vtLen {
		return -1, nil
	}
	off := int64(binary.LittleEndian.Uint16(t.c.b[t.vt+o:]))
	if off == 0 {
		return -1, nil
	}
	if off+size > t.objLen {
		return 0, errFlatbuffer
	}
	return t.pos + off, nil
}

// ref follows the offset in slot i of t, returning -1 if it is absent.
func (t fbTable) ref(i int) (int64, error) {
	p, err := t.field(i, 4)
	if p < 0 || err != nil {
		return p, err
	}
	u, err := t.c.u32(p)
	return p + u, err
}

// sub checks the table in slot i of t; ok is false if it is absent.
func (t fbTable) sub(i int) (sub fbTable, ok bool, err error) {
	p, err := t.ref(i)
	if p < 0 || err != nil {
		return fbTable{}, false, err
	}
	sub, err = t.c.table(p)
	return sub, err == nil, err
}

// vector checks the vector of elements of size bytes in slot i of t and
// returns the position of its first element and its length (0 if absent).
func (t fbTable) vector(i int, size int64) (int64, int64, error) {
	p, err := t.ref(i)
	if p < 0 || err != nil {
		return 0, 0, err
	}
	n, err := t.c.u32(p)
	if err != nil || !t.c.in(p+4, n*size) {
		return 0, 0, errFlatbuffer
	}
	if t.c.budget -= int(n); t.c.budget < 0 {
		return 0, 0, errFlatbuffer
	}
	return p + 4, n, nil
}

// tables checks each table of the vector of tables in slot i of t with
// check.
func (t fbTable) tables(i int, check func(fbTable) error) error {
	start, n, err := t.vector(i, 4)
	if err != nil {
		return err
	}
	for k := range n {
		p := start + 4*k
		u, err := t.c.u32(p)
		if err != nil {
			return err
		}
		sub, err := t.c.table(p + u)
		if err != nil {
			return err
		}
		if err := check(sub); err != nil {
			return err
		}
	}
	return nil
}

// Slots of the tables of Arrow's Schema.fbs, Message.fbs and File.fbs that
// hold vectors, strings or tables arrow-go reads.
const (
	schemaFields, schemaMetadata, schemaFeatures                      = 1, 2, 3
	fieldName, fieldTypeType, fieldType, fieldChildren, fieldMeta     = 0, 2, 3, 5, 6
	keyValueKey, keyValueValue                                        = 0, 1
	unionTypeIDs                                                      = 1
	typeUnion                                                         = 14 // Type.Union
	messageHeaderType, messageHeader, messageBodyLen, messageMeta     = 1, 2, 3, 4
	headerSchema, headerDictionary, headerRecordBatch                 = 1, 2, 3
	batchNodes, batchBuffers, batchCompression, batchVariadic         = 1, 2, 3, 4
	dictionaryData                                                    = 1
	footerSchema, footerDictionaries, footerRecordBatches, footerMeta = 1, 2, 3, 4
	blockSize                                                         = 24 // struct Block
)

func checkMetadata(t fbTable, slot int) error {
	return t.tables(slot, func(kv fbTable) error {
		if _, _, err := kv.vector(keyValueKey, 1); err != nil {
			return err
		}
		_, _, err := kv.vector(keyValueValue, 1)
		return err
	})
}

func checkField(f fbTable) error {
	if _, _, err := f.vector(fieldName, 1); err != nil {
		return err
	}
	if err := checkMetadata(f, fieldMeta); err != nil {
		return err
	}
	if p, err := f.field(fieldTypeType, 1); err != nil {
		return err
	} else if p >= 0 && f.c.b[p] == typeUnion {
		if u, ok, err := f.sub(fieldType); err != nil {
			return err
		} else if ok {
			if _, _, err := u.vector(unionTypeIDs, 4); err != nil {
				return err
			}
		}
	}
	return f.tables(fieldChildren, checkField)
}

func checkSchema(s fbTable) error {
	if err := s.tables(schemaFields, checkField); err != nil {
		return err
	}
	if _, _, err := s.vector(schemaFeatures, 8); err != nil {
		return err
	}
	return checkMetadata(s, schemaMetadata)
}

func checkRecordBatch(r fbTable) error {
	for _, v := range []struct {
		slot int
		size int64
	}{{batchNodes, 16}, {batchBuffers, 16}, {batchVariadic, 8}} {
		if _, _, err := r.vector(v.slot, v.size); err != nil {
			return err
		}
	}
	_, _, err := r.sub(batchCompression)
	return err
}

// checkMessage checks the flatbuffer of an IPC message and returns the
// length of its body.
func checkMessage(b []byte) (int64, error) {
	m, err := fbRoot(b)
	if err != nil {
		return 0, err
	}
	if err := checkMetadata(m, messageMeta); err != nil {
		return 0, err
	}
	var body int64
	if p, err := m.field(messageBodyLen, 8); err != nil {
		return 0, err
	} else if p >= 0 {
		body = int64(binary.LittleEndian.Uint64(b[p:]))
	}
	kind := byte(0)
	if p, err := m.field(messageHeaderType, 1); err != nil {
		return 0, err
	} else if p >= 0 {
		kind = b[p]
	}
	h, ok, err := m.sub(messageHeader)
	if err != nil || !ok {
		return body, err
	}
	switch kind {
	case headerSchema:
		err = checkSchema(h)
	case headerRecordBatch:
		err = checkRecordBatch(h)
	case headerDictionary:
		var data fbTable
		if data, ok, err = h.sub(dictionaryData); ok {
			err = checkRecordBatch(data)
		}
	}
	return body, err
}

// checkBlockMessage checks the message of a file block of metaLen bytes
// at offset: a continuation marker (or none, before Arrow 0.15), the
// flatbuffer's length, the flatbuffer.
func checkBlockMessage(r io.ReaderAt, offset, metaLen int64) error {
	b := make([]byte, metaLen)
	if _, err := r.ReadAt(b, offset); err != nil {
		return errFlatbuffer
	}
	prefix := int64(4)
	if len(b) >= 8 && binary.LittleEndian.Uint32(b) == 0xffffffff {
		prefix = 8
	}
	if int64(len(b)) < prefix {
		return errFlatbuffer
	}
	n := int64(binary.LittleEndian.Uint32(b[prefix-4:]))
	if n > metaLen-prefix {
		return errFlatbuffer
	}
	_, err := checkMessage(b[prefix : prefix+n])
	return err
}

// checkArrowFile checks the footer of an Arrow IPC file of size bytes, its
// schema, and the metadata of every block it lists, before arrow-go reads
// them.
func checkArrowFile(r io.ReaderAt, size int64) error {
	tail := int64(len(arrowMagic) + 4)
	if size < tail+8 {
		return badInput("the Arrow IPC file is truncated: %d bytes is too small; re-create it", size)
	}
	end := make([]byte, tail)
	if _, err := r.ReadAt(end, size-tail); err != nil {
		return badInput("cannot read the file: %w", err)
	}
	if !bytes.Equal(end[4:], arrowMagic) {
		return badInput("the Arrow IPC file is truncated or corrupt: it does not end with \"ARROW1\"; re-create it")
	}
	n := int64(binary.LittleEndian.Uint32(end))
	if n < 4 || n > size-tail-8 {
		return badInput("the Arrow IPC file is corrupt: its footer claims %d bytes in a file of %d; re-create it", n, size)
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, size-tail-n); err != nil {
		return badInput("cannot read the file: %w", err)
	}
	corrupt := func(what string, err error) error {
		return badInput("the Arrow IPC file is corrupt: %s: %w; re-create it", what, err)
	}
	footer, err := fbRoot(b)
	if err == nil {
		err = checkMetadata(footer, footerMeta)
	}
	if err != nil {
		return corrupt("its footer", err)
	}
	if s, ok, err := footer.sub(footerSchema); err != nil {
		return corrupt("its schema", err)
	} else if ok {
		if err := checkSchema(s); err != nil {
			return corrupt("its schema", err)
		}
	}
	for _, list := range []struct {
		slot int
		what string
	}{{footerDictionaries, "dictionary"}, {footerRecordBatches, "record batch"}} {
		start, count, err := footer.vector(list.slot, blockSize)
		if err != nil {
			return corrupt("its footer", err)
		}
		for k := range count {
			p := start + k*blockSize
			offset := int64(binary.LittleEndian.Uint64(b[p:]))
			metaLen := int64(int32(binary.LittleEndian.Uint32(b[p+8:])))
			if offset < 0 || metaLen < 4 || offset > size || metaLen > size-offset {
				return corrupt(fmt.Sprintf("%s %d lies outside the file", list.what, k), errFlatbuffer)
			}
			if err := checkBlockMessage(r, offset, metaLen); err != nil {
				return corrupt(fmt.Sprintf("the metadata of %s %d", list.what, k), err)
			}
		}
	}
	return nil
}

// checkedMessages reads the messages of an Arrow IPC stream, as arrow-go's
// message reader does, checking the flatbuffer of each before handing it
// on; neither a message's metadata nor its body may be longer than the
// limit (the file's size).
type checkedMessages struct {
	r     io.Reader
	mem   memory.Allocator
	limit int64
}

func (m *checkedMessages) Retain()  {}
func (m *checkedMessages) Release() {}

func (m *checkedMessages) Message() (*ipc.Message, error) {
	var head [4]byte
	if _, err := io.ReadFull(m.r, head[:]); err != nil {
		return nil, err // io.EOF: the stream ends without its end marker
	}
	n := int64(binary.LittleEndian.Uint32(head[:]))
	if n == 0xffffffff {
		if _, err := io.ReadFull(m.r, head[:]); err != nil {
			return nil, fmt.Errorf("cannot read a message's length: %w", err)
		}
		n = int64(binary.LittleEndian.Uint32(head[:]))
	}
	if n == 0 {
		return nil, io.EOF // the end-of-stream marker
	}
	if n < 4 || n > m.limit {
		return nil, fmt.Errorf("a message claims %d bytes of metadata in a file of %d", n, m.limit)
	}
	meta := make([]byte, n)
	if _, err := io.ReadFull(m.r, meta); err != nil {
		return nil, fmt.Errorf("cannot read a message's metadata: %w", err)
	}
	bodyLen, err := checkMessage(meta)
	if err != nil {
		return nil, fmt.Errorf("a message's metadata is corrupt: %w", err)
	}
	if bodyLen < 0 || bodyLen > m.limit {
		return nil, fmt.Errorf("a message claims a body of %d bytes in a file of %d", bodyLen, m.limit)
	}
	body := memory.NewResizableBuffer(m.mem)
	body.Resize(int(bodyLen))
	if _, err := io.ReadFull(m.r, body.Bytes()); err != nil {
		body.Release()
		return nil, fmt.Errorf("cannot read a message's body: %w", err)
	}
	msg := ipc.NewMessage(memory.NewBufferBytes(meta), body)
	body.Release()
	return msg, nil
}
