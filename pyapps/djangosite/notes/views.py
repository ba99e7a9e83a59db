from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from .forms import NoteForm
from .models import Note


@login_required
def note_list(request):
    return render(request, "notes/list.html", {"notes": Note.objects.all()})


@login_required
def note_new(request):
    form = NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        note = form.save(commit=False)
        note.author = request.user
        note.save()
        return redirect("notes:list")
    return render(request, "notes/new.html", {"form": form})
