package onnx

import "fmt"

// broadcastShape returns the shape of a multidirectional (numpy) broadcast
// of shapes a and b.
func broadcastShape(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for k := 0; k < r; k++ {
		da, db := 1, 1
		if i := k - (r - len(a)); i >= 0 {
			da = a[i]
		}
		if i := k - (r - len(b)); i >= 0 {
			db = b[i]
		}
		switch {
		case da == db, db == 1:
			out[k] = da
		case da == 1:
			out[k] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcast calls f for each element of the output shape with the flat
// indices of the output and of the elements of a and b it combines. a and b
// must broadcast to shape.
func broadcast(shape, a, b []int, f func(o, i, j int)) {
	r := len(shape)
	strides := func(s []int) []int {
		st := make([]int, r)
		acc := 1
		for k := len(s) - 1; k >= 0; k-- {
			if s[k] != 1 {
				st[k+r-len(s)] = acc
			}
			acc *= s[k]
		}
		return st
	}
	sa, sb := strides(a), strides(b)
	total := shapeSize(shape)
	if total == 0 {
		return
	}
	idx := make([]int, r)
	i, j := 0, 0
	for o := 0; o < total; o++ {
		f(o, i, j)
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			i += sa[k]
			j += sb[k]
			if idx[k] < shape[k] {
				break
			}
			i -= sa[k] * idx[k]
			j -= sb[k] * idx[k]
			idx[k] = 0
		}
	}
}

// broadcastIndex maps a flat index into shape to the flat index of the
// element of an operand of shape sub that broadcasts to it.
func broadcastIndex(shape, sub []int) func(int) int {
	r := len(shape)
	strides := make([]int, r) // strides of sub, 0 along broadcast axes
	stride := 1
	for k := r - 1; k >= 0; k-- {
		i := k - (r - len(sub))
		if i >= 0 && sub[i] != 1 {
			strides[k] = stride
			stride *= sub[i]
		}
	}
	return func(o int) int {
		idx := 0
		for k := r - 1; k >= 0; k-- {
			idx += (o % shape[k]) * strides[k]
			o /= shape[k]
		}
		return idx
	}
}
