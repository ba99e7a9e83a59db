"""Flask's stream_with_context across suspended streams (issue 12): each
chunk of /s names the request the generator belongs to, read from Flask's
request context when the chunk is made, so a stream resumed after other
requests ran on its slot shows whether its context came back with it."""
from flask import Flask, Response, request, stream_with_context

app = Flask(__name__)


@app.route("/s")
def stream():
    n = int(request.args.get("n", "5"))

    def chunks():
        for i in range(n):
            yield ("%s:%d;" % (request.args["id"], i)).ljust(8192, ".").encode()

    return Response(stream_with_context(chunks()), mimetype="text/plain")
