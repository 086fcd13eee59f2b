@mcp
Feature: The same operations as MCP tools
  An agent that talks MCP calls the client's tools instead of running
  commands; the results are the same JSON.

  @MCP-01
  Scenario: The MCP server lists the contract's tools with input schemas
    Then the client's MCP server lists these tools with input schemas:
      | auth_login                     | clientName                                                             |
      | auth_status                    |                                                                        |
      | auth_logout                    |                                                                        |
      | payment-methods_list           |                                                                        |
      | payment-methods_add            |                                                                        |
      | spend-request_create           | paymentMethodId credentialType networkId merchantName merchantUrl requestApproval amount context |
      | spend-request_update           | id                                                                     |
      | spend-request_retrieve         | id include interval maxAttempts                                        |
      | spend-request_request-approval | id                                                                     |
      | spend-request_cancel           | id                                                                     |
      | spend-request_list             |                                                                        |
      | mpp_decode                     | challenge                                                              |
      | mpp_pay                        | url spendRequestId                                                     |

  @MCP-02 @auth @AUTH-02
  Scenario: Login through tool calls
    When the agent starts "auth login --client-name 'MCP Agent'"
    Then the first object has a "verification_url" starting with "{link}/"
    When the user approves the login
    And the agent finishes the login
    Then it succeeds
    And the output field "authenticated" is "true"

  @MCP-02 @spend @SR-02
  Scenario: A validation error is a tool error with the same JSON
    Given a logged-in user with a default card
    When the agent runs "spend-request create --credential-type card --amount 1500 --merchant-name 'Example Times' --merchant-url https://times.example --context 'Too short.'"
    Then it fails with an error
    And the error names "context"
    And no spend request was created at Link

  @MCP-02 @spt @PAY-03
  Scenario: A full shared payment token purchase through tool calls
    Given a logged-in user with a default card
    And a shared payment token spend request for "api/report" pending approval
    When the agent starts "spend-request retrieve {id} --interval 0.05 --max-attempts 300"
    And the user approves the spend request once the agent has checked it 1 times
    And the agent's command finishes
    Then the output field "status" is "approved"
    When the agent runs "mpp pay {merchant:api/report} --spend-request-id {id}"
    Then it succeeds
    And the output field "status" is "200"
    And the merchant "api" was paid 1 time
    And Link redeemed the shared payment token 1 time

  @MCP-02 @card @PAY-01
  Scenario: A card through tool calls
    Given a logged-in user with a default card
    And an approved card spend request
    When the agent runs "spend-request retrieve {id} --include card"
    Then it succeeds
    And the card number passes the Luhn check and is the card Link issued
