from __future__ import annotations

from django import forms


class LoginForm(forms.Form):
    """A look-alike login form: the view never signs anyone in; it exists to show password redaction."""

    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
