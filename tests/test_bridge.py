"""Values cross the kernel boundary as JSON only; decoding never trusts the kernel."""

import json

import numpy as np
import pytest

from autograder.kernel import Opaque, decode, encode


def roundtrip(value):
    return decode(json.loads(json.dumps(encode(value))))


def test_arrays_keep_dtype_and_shape():
    for arr in (np.arange(6).reshape(2, 3), np.linspace(0, 1, 5), np.array([1.5]), np.zeros((0,))):
        back = roundtrip(arr)
        assert back.dtype == arr.dtype and back.shape == arr.shape
        assert np.array_equal(back, arr)


def test_tuples_and_scalars():
    assert roundtrip((1.0, 2)) == (1.0, 2)
    assert roundtrip([np.float64(2.5)]) == [2.5]


def test_kernel_values_decode_to_plain_types():
    payload = {"__tuple__": [{"__scalar__": "<f8", "value": 1.25}, {"__object__": "Liar", "repr": "always equal"}]}
    first, second = decode(payload)
    assert type(first) is np.float64 and first == 1.25
    assert isinstance(second, Opaque) and second.type_name == "Liar"


def test_dangerous_dtypes_are_refused():
    with pytest.raises(ValueError, match="unsupported dtype"):
        decode({"__ndarray__": ["a"], "dtype": "<U1", "shape": [1]})
    with pytest.raises(ValueError, match="unknown encoding"):
        decode({"__reduce__": "os.system"})


def test_only_plain_values_can_be_sent():
    with pytest.raises(TypeError, match="cannot send object"):
        encode(object())
