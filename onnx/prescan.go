package onnx

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Limits the pre-scan enforces before onnx-go allocates tensors for declared
// shapes: one dimension, and the elements of all declared (not stored)
// tensors together. The elements of all initializers together may not exceed
// the size of the file in bytes (every stored element takes at least one).
const (
	maxDim           = 1 << 24
	maxDeclaredElems = 1 << 24
)

// maxNodes is the most nodes a graph may have. vaejob writes about 20 plus
// two a layer; a file with more is not one of its models, and refusing it
// bounds the evaluator's work per row.
const maxNodes = 1024

// prescan checks the wire format of the parts of the ModelProto that make
// onnx-go allocate memory, so that a corrupt or hostile file fails with an
// error instead of exhausting memory: the dimensions of declared values and
// of initializers, and tensor or graph attributes (vaejob never writes those).
// It returns the names of the initializers, which onnx-go does not tell apart
// from other values that carry a tensor.
func prescan(data []byte) (map[string]bool, error) {
	sawGraph := false
	inits := map[string]bool{}
	var nodes int
	var initElems, declaredElems uint64
	err := walk(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fModelGraph {
			return nil
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("graph field has wire type %d", typ)
		}
		sawGraph = true
		return walk(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			if typ != protowire.BytesType {
				return nil
			}
			switch num {
			case fGraphNode:
				if nodes++; nodes > maxNodes {
					return fmt.Errorf("graph has more than %d nodes (vaejob writes about 20 plus two a layer)", maxNodes)
				}
				return scanNode(v)
			case fGraphInitializer:
				name, n, err := scanInitializer(v, uint64(len(data)))
				if err != nil {
					return err
				}
				inits[name] = true
				if initElems += n; initElems > uint64(len(data)) {
					return fmt.Errorf("initializers declare %d or more elements, which exceed the %d-byte file", initElems, len(data))
				}
				return nil
			case fGraphInput, fGraphOutput, fGraphValueInfo:
				n, err := scanValueInfo(v)
				if err != nil {
					return err
				}
				if declaredElems += n; declaredElems > maxDeclaredElems {
					return fmt.Errorf("declared shapes of inputs, outputs and values are too large together (more than %d elements)", maxDeclaredElems)
				}
				return nil
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if !sawGraph {
		return nil, errors.New("no graph in the model")
	}
	return inits, nil
}

func scanNode(b []byte) error {
	return walk(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fNodeAttribute || typ != protowire.BytesType {
			return nil
		}
		return walk(v, func(num protowire.Number, _ protowire.Type, _ []byte, _ uint64) error {
			switch num {
			case fAttrT, fAttrG, fAttrTensors, fAttrGraphs:
				return fmt.Errorf("node attribute field %d (tensor or graph) is not supported", num)
			}
			return nil
		})
	})
}

// scanInitializer checks that a TensorProto's element count cannot exceed the
// size of the file that stores it, and returns its name and element count.
// A bool tensor must hold its elements as int32_data, each 0 or 1, as
// many as its dims say (see boolTensor): onnx-go reads bool raw_data as
// eight bytes an element, and other int32 values as false where ONNX
// Runtime takes them for true.
func scanInitializer(b []byte, fileSize uint64) (string, uint64, error) {
	var dims, ints []uint64
	var name string
	var dataType uint64
	hasRaw := false
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == fTensorName && typ == protowire.BytesType:
			name = string(v)
		case num == fTensorDataType && typ == protowire.VarintType:
			dataType = x
		case num == fTensorRawData:
			hasRaw = true
		case num == fTensorDims:
			return appendVarints(&dims, "tensor dims", typ, v, x)
		case num == fTensorInt32Data:
			return appendVarints(&ints, "tensor int32_data", typ, v, x)
		}
		return nil
	})
	if err != nil {
		return "", 0, fmt.Errorf("initializer: %w", err)
	}
	n, ok := elems(dims, fileSize)
	if !ok {
		return "", 0, fmt.Errorf("initializer %q: dims %v exceed the %d-byte file", name, dims, fileSize)
	}
	if dataType == dataTypeBool {
		if hasRaw {
			return "", 0, fmt.Errorf("initializer %q: bool data as raw_data, want int32_data", name)
		}
		if uint64(len(ints)) != n {
			return "", 0, fmt.Errorf("initializer %q: %d bool elements for dims %v", name, len(ints), dims)
		}
		for _, i := range ints {
			if i > 1 {
				return "", 0, fmt.Errorf("initializer %q: bool element %d, want 0 or 1", name, int64(i))
			}
		}
	}
	return name, n, nil
}

// appendVarints appends to dst the values of a repeated integer field,
// packed (typ BytesType, payload v) or not (typ VarintType, value x); what
// names the field in errors.
func appendVarints(dst *[]uint64, what string, typ protowire.Type, v []byte, x uint64) error {
	if typ == protowire.VarintType {
		*dst = append(*dst, x)
		return nil
	}
	for len(v) > 0 {
		d, n := protowire.ConsumeVarint(v)
		if n < 0 {
			return fmt.Errorf("malformed %s: %w", what, protowire.ParseError(n))
		}
		*dst = append(*dst, d)
		v = v[n:]
	}
	return nil
}

// scanValueInfo returns the element count of a ValueInfoProto's declared
// shape (its fixed dimensions), refusing one that is too large.
func scanValueInfo(b []byte) (uint64, error) {
	var dims []uint64
	var dive func(depth int) func(protowire.Number, protowire.Type, []byte, uint64) error
	// ValueInfoProto.type → TypeProto.tensor_type → Tensor.shape → dim → dim_value
	path := []protowire.Number{fValueType, fTypeTensorType, fTensorTypeShape, fShapeDim, fDimValue}
	dive = func(depth int) func(protowire.Number, protowire.Type, []byte, uint64) error {
		return func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
			if num != path[depth] {
				return nil
			}
			if depth == len(path)-1 {
				if typ == protowire.VarintType {
					dims = append(dims, x)
				}
				return nil
			}
			if typ != protowire.BytesType {
				return nil
			}
			return walk(v, dive(depth+1))
		}
	}
	if err := walk(b, dive(0)); err != nil {
		return 0, fmt.Errorf("value info: %w", err)
	}
	n, ok := elems(dims, maxDeclaredElems)
	if !ok {
		return 0, fmt.Errorf("declared shape %v is too large", dims)
	}
	return n, nil
}

// elems returns the element count of a tensor with the given dims, and
// whether every dimension is at most maxDim and the count at most maxElems.
func elems(dims []uint64, maxElems uint64) (uint64, bool) {
	n := uint64(1)
	for _, d := range dims {
		if d > maxDim {
			return 0, false
		}
		n *= d
		if n > maxElems {
			return 0, false
		}
	}
	return n, true
}
