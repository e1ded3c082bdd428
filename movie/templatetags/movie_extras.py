from django import template

register = template.Library()


@register.filter
def lookup(mapping: dict, key: object) -> object:
    """`{{ ratings|lookup:movie.pk }}`: a dict value by key in a template."""
    return mapping.get(key) if isinstance(mapping, dict) else None
