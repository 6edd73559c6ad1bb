from django import forms


class SignForm(forms.Form):
    name = forms.CharField(max_length=60)
    message = forms.CharField(max_length=500, widget=forms.Textarea)
