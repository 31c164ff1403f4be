"""One way to put a ValidationError into words."""

from django.core.exceptions import ValidationError

from catalog.validation import error_text


def test_plain_text_joins_the_messages():
    error = ValidationError({"note": ["Say why the proposal is rejected."]})
    assert error_text(error) == "Say why the proposal is rejected."


def test_with_fields_each_message_names_its_field_and_the_form_wide_ones_none():
    error = ValidationError({"name": ["Give a name."], "__all__": ["Change at least one field."]})
    assert error_text(error, fields=True) == "name: Give a name.; Change at least one field."


def test_an_error_without_fields_reads_the_same_either_way():
    error = ValidationError(["A batch needs at least one proposal.", "Try again."])
    assert error_text(error) == "A batch needs at least one proposal. Try again."
    assert error_text(error, fields=True) == error_text(error)
