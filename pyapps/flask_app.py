"""The Flask sample: gowsgi serve --chdir pyapps flask_app:app"""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/")
def index():
    return "Hello from Flask!\n"


@app.route("/hello/<name>")
def hello(name):
    return jsonify(greeting="Hello, %s!" % name, query=request.args.to_dict())
