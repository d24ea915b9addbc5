from enum import StrEnum


class ServerState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    UNHEALTHY = "unhealthy"
    CRASHED = "crashed"
    BACKING_OFF = "backing-off"
    GAVE_UP = "gave-up"
    STOPPING = "stopping"
