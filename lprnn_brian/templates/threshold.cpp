{# The spike threshold of the row layout (lprnn_brian.threshold_kernel): Brian2's cpp_standalone threshold code
   object, with the event space filled from bit masks instead of a branch per neuron. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% block extra_headers %}
#include <cstdint>
#include <cstring>
#if defined(__AVX512BW__) || defined(__AVX2__)
#include <immintrin.h>
#endif
namespace {
// The condition of one neuron, as the mask below reads it: 0, or all ones. A byte with AVX-512 (one test of 64 bytes
// per 64 neurons); elsewhere 64 bits, the width of the double it is computed from, so that the compiler stores its
// compare's result as it is and AVX2 reads four conditions per movemask (bytes took a chain of packs per 64 neurons).
#if defined(__AVX512BW__)
typedef unsigned char _lprnn_cond_t;
#else
typedef int64_t _lprnn_cond_t;
#endif
// Bit k of the result is set where condition k of the 64 is non-zero.
inline uint64_t _lprnn_condition_mask(const _lprnn_cond_t* _conds)
{
#if defined(__AVX512BW__)
    const __m512i _b = _mm512_loadu_si512((const void*)_conds);
    return (uint64_t)_mm512_test_epi8_mask(_b, _b);
#elif defined(__AVX2__)
    uint64_t _mask = 0;
    for (int _q = 0; _q < 16; _q++)
        _mask |= (uint64_t)_mm256_movemask_pd(_mm256_loadu_pd((const double*)(_conds + 4 * _q))) << (4 * _q);
    return _mask;
#else
    uint64_t _mask = 0;
    for (int _k = 0; _k < 64; _k++)
        _mask |= (uint64_t)(_conds[_k] != 0) << _k;
    return _mask;
#endif
}
// Index of the lowest set bit of a non-zero mask: a loop on any compiler, one instruction on GCC and Clang.
inline int _lprnn_lowest_bit_portable(uint64_t _mask)
{
    int _k = 0;
    while (!(_mask & 1u))
    {
        _mask >>= 1;
        _k++;
    }
    return _k;
}
inline int _lprnn_lowest_bit(const uint64_t _mask)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(_mask);
#else
    return _lprnn_lowest_bit_portable(_mask);
#endif
}
// Append start + k for every set bit k of the mask, lowest first, at out[count]; returns the new count. With
// AVX-512 sixteen bits at a time, without a branch per spike: the indices of the set bits compressed into the
// lowest lanes, stored under a mask of the bits' count (nothing written beyond them); elsewhere one bit at a time.
inline long _lprnn_append_bits(int32_t* _out, long _count, const size_t _start, uint64_t _mask)
{
#if defined(__AVX512F__) && (defined(__GNUC__) || defined(__clang__))
    const __m512i _lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int _q = 0; _q < 64; _q += 16)
    {
        const __mmask16 _bits = (__mmask16)(_mask >> _q);
        const int _n = __builtin_popcount((unsigned)_bits);
        const __m512i _index = _mm512_add_epi32(_mm512_set1_epi32((int32_t)(_start + _q)), _lanes);
        const __mmask16 _first_n = (__mmask16)((1u << _n) - 1u);  // the lowest n lanes: nothing beyond them
        _mm512_mask_storeu_epi32(_out + _count, _first_n, _mm512_maskz_compress_epi32(_bits, _index));
        _count += _n;
    }
#else
    while (_mask)
    {
        _out[_count++] = (int32_t)(_start + (size_t)_lprnn_lowest_bit(_mask));
        _mask &= _mask - 1;
    }
#endif
    return _count;
}
}
{% endblock %}
{% block maincode %}
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}
    {% if _uses_refractory %}
    #error "lprnn_brian's branch-free threshold is for groups without refractoriness"
    {% endif %}
    // A few percent of a ΣΔ layer spike at each step, at no predictable place. The condition of 64 neurons at a
    // time goes into a buffer (a loop without branches, which the compiler vectorises), the buffer into a bit mask,
    // and the mask's set bits, lowest first, into the event space: the same event space as Brian2's threshold (the
    // indices in increasing order, their count at [N]), without a branch per neuron (with AVX-512, none per spike).
    _lprnn_cond_t _conds[64];
    long _count = 0;
    for(size_t _start=0; _start<N; _start+=64)
    {
        const size_t _n = (N - _start < 64) ? (size_t)(N - _start) : 64;
        if (_n < 64)
            memset(_conds, 0, sizeof(_conds));
        for(size_t _k=0; _k<_n; _k++)
        {
            const size_t _idx = _start + _k;
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
            _conds[_k] = _cond ? (_lprnn_cond_t)-1 : (_lprnn_cond_t)0;
        }
        _count = _lprnn_append_bits({{_eventspace}}, _count, _start, _lprnn_condition_mask(_conds));
    }
    {{_eventspace}}[N] = _count;
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // the array has N + 1 entries: [N] is the count
{% endblock %}
