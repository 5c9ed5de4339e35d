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
// Bit k of the result is set where byte k of the 64 bytes is non-zero (the bytes hold 0 or 1).
inline uint64_t _lprnn_nonzero_bytes(const unsigned char* _bytes)
{
#if defined(__AVX512BW__)
    const __m512i _b = _mm512_loadu_si512((const void*)_bytes);
    return (uint64_t)_mm512_test_epi8_mask(_b, _b);
#elif defined(__AVX2__)
    const __m256i _zero = _mm256_setzero_si256();
    const __m256i _lo = _mm256_loadu_si256((const __m256i*)_bytes);
    const __m256i _hi = _mm256_loadu_si256((const __m256i*)(_bytes + 32));
    const uint32_t _mlo = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_lo, _zero));
    const uint32_t _mhi = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_hi, _zero));
    return ((uint64_t)_mhi << 32) | _mlo;
#else
    uint64_t _mask = 0;
    for (int _k = 0; _k < 64; _k++)
        _mask |= (uint64_t)(_bytes[_k] != 0) << _k;
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
    // time goes into bytes (a loop without branches, which the compiler vectorises), the bytes into a bit mask, and
    // the mask's set bits, lowest first, into the event space: the same event space as Brian2's threshold (the
    // indices in increasing order, their count at [N]), without a branch per neuron.
    unsigned char _cond_bytes[64];
    long _count = 0;
    for(size_t _start=0; _start<N; _start+=64)
    {
        const size_t _n = (N - _start < 64) ? (size_t)(N - _start) : 64;
        if (_n < 64)
            memset(_cond_bytes, 0, sizeof(_cond_bytes));
        for(size_t _k=0; _k<_n; _k++)
        {
            const size_t _idx = _start + _k;
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
            _cond_bytes[_k] = _cond ? 1 : 0;
        }
        uint64_t _mask = _lprnn_nonzero_bytes(_cond_bytes);
        while (_mask)
        {
            {{_eventspace}}[_count++] = (int32_t)(_start + (size_t)_lprnn_lowest_bit(_mask));
            _mask &= _mask - 1;
        }
    }
    {{_eventspace}}[N] = _count;
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // the array has N + 1 entries: [N] is the count
{% endblock %}
