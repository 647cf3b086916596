from flask import Flask
import redis

app = Flask(__name__)
# Redis runs on this machine
cache = redis.Redis(host='localhost', port=6379)


@app.route('/')
def index():
    count = cache.incr('hits')
    return f'Hello from Docker Compose! Page viewed {count} times.'


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
