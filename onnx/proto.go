package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers and enum values from onnx.proto (ONNX 1.8+, IR version 7).
const (
	// ModelProto
	fModelIRVersion       protowire.Number = 1
	fModelProducerName    protowire.Number = 2
	fModelProducerVersion protowire.Number = 3
	fModelDocString       protowire.Number = 6
	fModelGraph           protowire.Number = 7
	fModelOpsetImport     protowire.Number = 8
	fModelMetadataProps   protowire.Number = 14

	// OperatorSetIdProto
	fOpsetDomain  protowire.Number = 1
	fOpsetVersion protowire.Number = 2

	// StringStringEntryProto
	fEntryKey   protowire.Number = 1
	fEntryValue protowire.Number = 2

	// GraphProto
	fGraphNode        protowire.Number = 1
	fGraphName        protowire.Number = 2
	fGraphInitializer protowire.Number = 5
	fGraphDocString   protowire.Number = 10
	fGraphInput       protowire.Number = 11
	fGraphOutput      protowire.Number = 12
	fGraphValueInfo   protowire.Number = 13

	// NodeProto
	fNodeInput     protowire.Number = 1
	fNodeOutput    protowire.Number = 2
	fNodeName      protowire.Number = 3
	fNodeOpType    protowire.Number = 4
	fNodeAttribute protowire.Number = 5

	// AttributeProto
	fAttrName    protowire.Number = 1
	fAttrF       protowire.Number = 2
	fAttrI       protowire.Number = 3
	fAttrT       protowire.Number = 5
	fAttrG       protowire.Number = 6
	fAttrInts    protowire.Number = 8
	fAttrTensors protowire.Number = 10
	fAttrGraphs  protowire.Number = 11
	fAttrType    protowire.Number = 20

	// ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto
	fValueName       protowire.Number = 1
	fValueType       protowire.Number = 2
	fTypeTensorType  protowire.Number = 1
	fTensorTypeElem  protowire.Number = 1
	fTensorTypeShape protowire.Number = 2
	fShapeDim        protowire.Number = 1
	fDimValue        protowire.Number = 1
	fDimParam        protowire.Number = 2
	fTensorDims      protowire.Number = 1
	fTensorDataType  protowire.Number = 2
	fTensorInt32Data protowire.Number = 5
	fTensorName      protowire.Number = 8
	fTensorRawData   protowire.Number = 9
	attrTypeFloat                     = 1
	attrTypeInt                       = 2
	attrTypeInts                      = 7
	dataTypeFloat                     = 1
	dataTypeInt64                     = 7
	dataTypeBool                      = 9
)

// msg is a protobuf message being written. Fields are appended in the order
// the methods are called, which the encoder keeps fixed.
type msg []byte

func (m *msg) varint(num protowire.Number, v uint64) {
	*m = protowire.AppendTag(*m, num, protowire.VarintType)
	*m = protowire.AppendVarint(*m, v)
}

func (m *msg) int64(num protowire.Number, v int64) { m.varint(num, uint64(v)) }

func (m *msg) fixed32(num protowire.Number, v uint32) {
	*m = protowire.AppendTag(*m, num, protowire.Fixed32Type)
	*m = protowire.AppendFixed32(*m, v)
}

func (m *msg) bytes(num protowire.Number, b []byte) {
	*m = protowire.AppendTag(*m, num, protowire.BytesType)
	*m = protowire.AppendBytes(*m, b)
}

func (m *msg) string(num protowire.Number, s string) {
	*m = protowire.AppendTag(*m, num, protowire.BytesType)
	*m = protowire.AppendString(*m, s)
}

// packedInt64 writes a packed repeated int64 field. Parsers of onnx.proto
// (proto2, unpacked by default) accept the packed form too.
func (m *msg) packedInt64(num protowire.Number, vs []int64) {
	var p []byte
	for _, v := range vs {
		p = protowire.AppendVarint(p, uint64(v))
	}
	m.bytes(num, p)
}

// tensorProto encodes a TensorProto of the given data type whose elements
// are raw, already in little-endian order. A scalar has no dims.
func tensorProto(name string, dims []int64, dataType int64, raw []byte) []byte {
	var t msg
	if len(dims) > 0 {
		t.packedInt64(fTensorDims, dims)
	}
	t.int64(fTensorDataType, dataType)
	t.string(fTensorName, name)
	t.bytes(fTensorRawData, raw)
	return t
}

// floatTensor encodes a float32 TensorProto with its data as little-endian
// raw_data.
func floatTensor(name string, dims []int64, data []float32) []byte {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return tensorProto(name, dims, dataTypeFloat, raw)
}

// int64Tensor encodes an int64 TensorProto with its data as little-endian
// raw_data.
func int64Tensor(name string, dims []int64, data []int64) []byte {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return tensorProto(name, dims, dataTypeInt64, raw)
}

// boolTensor encodes a bool TensorProto with its data as int32_data (0 or
// 1 each, packed), the form of onnx.helper.make_tensor. raw_data, one byte
// an element in the standard, would be misread by onnx-go, which takes
// eight bytes per bool element there.
func boolTensor(name string, dims []int64, data []bool) []byte {
	ints := make([]int64, len(data))
	for i, b := range data {
		if b {
			ints[i] = 1
		}
	}
	var t msg
	if len(dims) > 0 {
		t.packedInt64(fTensorDims, dims)
	}
	t.int64(fTensorDataType, dataTypeBool)
	t.packedInt64(fTensorInt32Data, ints)
	t.string(fTensorName, name)
	return t
}

// dim is one dimension of a declared tensor shape: a fixed size, or a named
// dynamic one when param is set.
type dim struct {
	value int64
	param string
}

// valueInfo encodes a ValueInfoProto for a tensor of the given element type.
func valueInfo(name string, elemType int64, dims ...dim) []byte {
	var shape msg
	for _, d := range dims {
		var dm msg
		if d.param != "" {
			dm.string(fDimParam, d.param)
		} else {
			dm.int64(fDimValue, d.value)
		}
		shape.bytes(fShapeDim, dm)
	}
	var tt msg
	tt.int64(fTensorTypeElem, elemType)
	tt.bytes(fTensorTypeShape, shape)
	var typ msg
	typ.bytes(fTypeTensorType, tt)
	var v msg
	v.string(fValueName, name)
	v.bytes(fValueType, typ)
	return v
}

// attr is one node attribute. Exactly one of the value fields is meaningful,
// as chosen by kind (attrTypeFloat, attrTypeInt or attrTypeInts).
type attr struct {
	name string
	kind int64
	f    float32
	i    int64
	ints []int64
}

func intAttr(name string, v int64) attr     { return attr{name: name, kind: attrTypeInt, i: v} }
func intsAttr(name string, v ...int64) attr { return attr{name: name, kind: attrTypeInts, ints: v} }
func floatAttr(name string, v float32) attr { return attr{name: name, kind: attrTypeFloat, f: v} }

func (a attr) encode() []byte {
	var m msg
	m.string(fAttrName, a.name)
	switch a.kind {
	case attrTypeFloat:
		m.fixed32(fAttrF, math.Float32bits(a.f))
	case attrTypeInt:
		m.int64(fAttrI, a.i)
	case attrTypeInts:
		m.packedInt64(fAttrInts, a.ints)
	}
	m.int64(fAttrType, a.kind)
	return m
}

// nodeProto encodes a NodeProto in the default domain.
func nodeProto(name, opType string, inputs, outputs []string, attrs ...attr) []byte {
	var m msg
	for _, in := range inputs {
		m.string(fNodeInput, in)
	}
	for _, out := range outputs {
		m.string(fNodeOutput, out)
	}
	m.string(fNodeName, name)
	m.string(fNodeOpType, opType)
	for _, a := range attrs {
		m.bytes(fNodeAttribute, a.encode())
	}
	return m
}

// graphProto is a GraphProto before it is encoded: its nodes (NodeProtos),
// initializers (TensorProtos), inputs and outputs (ValueInfoProtos).
type graphProto struct {
	name            string
	doc             string // omitted when empty
	nodes, inits    [][]byte
	inputs, outputs [][]byte
}

// encode writes the graph's fields in the order Encode has always written
// them: nodes, name, initializers, doc string, inputs, outputs.
func (g graphProto) encode() []byte {
	var m msg
	for _, n := range g.nodes {
		m.bytes(fGraphNode, n)
	}
	m.string(fGraphName, g.name)
	for _, t := range g.inits {
		m.bytes(fGraphInitializer, t)
	}
	if g.doc != "" {
		m.string(fGraphDocString, g.doc)
	}
	for _, v := range g.inputs {
		m.bytes(fGraphInput, v)
	}
	for _, v := range g.outputs {
		m.bytes(fGraphOutput, v)
	}
	return m
}

// modelProto is a ModelProto before it is encoded, around an encoded graph.
// It imports the default operator set, version OpsetVersion.
type modelProto struct {
	producerName    string // each of these three omitted when empty
	producerVersion string
	doc             string
	graph           []byte
	props           []Prop
}

// encode writes the model's fields in the order Encode has always written
// them: IR version, producer, doc string, graph, opset import, metadata.
func (p modelProto) encode() []byte {
	var m msg
	m.int64(fModelIRVersion, IRVersion)
	for _, f := range []struct {
		num protowire.Number
		s   string
	}{{fModelProducerName, p.producerName}, {fModelProducerVersion, p.producerVersion}, {fModelDocString, p.doc}} {
		if f.s != "" {
			m.string(f.num, f.s)
		}
	}
	m.bytes(fModelGraph, p.graph)
	var opset msg
	opset.string(fOpsetDomain, "")
	opset.int64(fOpsetVersion, OpsetVersion)
	m.bytes(fModelOpsetImport, opset)
	for _, e := range p.props {
		var entry msg
		entry.string(fEntryKey, e.Key)
		entry.string(fEntryValue, e.Value)
		m.bytes(fModelMetadataProps, entry)
	}
	return m
}

// Prop is one metadata_props entry of an ONNX model.
type Prop struct {
	Key, Value string
}

// ReadMetadataProps returns the metadata_props entries of an ONNX model in
// file order. onnx-go decodes the field but does not expose it, so this reads
// just that field of the ModelProto with protowire.
func ReadMetadataProps(data []byte) ([]Prop, error) {
	var props []Prop
	err := walk(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fModelMetadataProps {
			return nil
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("metadata_props has wire type %d", typ)
		}
		var p Prop
		err := walk(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			if typ != protowire.BytesType {
				return nil
			}
			switch num {
			case fEntryKey:
				p.Key = string(v)
			case fEntryValue:
				p.Value = string(v)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("metadata_props entry %d: %w", len(props), err)
		}
		props = append(props, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read metadata_props: %w", err)
	}
	return props, nil
}

// walk calls fn for each field of the protobuf message in b. For
// length-delimited fields v is the payload; for varint and fixed fields x is
// the value and v is nil.
func walk(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("malformed protobuf tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x32 uint32
			x32, n = protowire.ConsumeFixed32(b)
			x = uint64(x32)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("malformed protobuf field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
