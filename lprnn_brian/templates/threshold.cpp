{# The spike threshold of the row layout (lprnn_brian.threshold_kernel): Brian2's cpp_standalone threshold code
   object, with the event space filled without a conditional branch. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}
    {% if _uses_refractory %}
    #error "lprnn_brian's branch-free threshold is for groups without refractoriness"
    {% endif %}
    // Every index is written to the next free place and kept (the count advanced) only where the condition holds:
    // the same event space as appending inside an if (indices in increasing order, their count at [N]), without a
    // branch that mispredicts at every spike. _count <= _idx < N, so every write is inside the array.
    long _count = 0;
    for(size_t _idx=0; _idx<N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        {{_eventspace}}[_count] = _idx;
        _count += _cond ? 1 : 0;
    }
    {{_eventspace}}[N] = _count;
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // the array has N + 1 entries: [N] is the count
{% endblock %}
